/**
 * The JSON schemas of the HTTP API: every route's query, parameters, body and responses are
 * declared with these, fastify validates requests with them (ajv, `removeAdditional: false`, so an
 * unknown query field is a 400, not silently dropped) and @fastify/swagger publishes them as the
 * OpenAPI document (`GET /api/openapi.json`). Shared shapes are registered once under an `$id`
 * (`addSharedSchemas`) and referenced as `{ $ref: 'Name#' }`; the OpenAPI document lists them under
 * `components.schemas`.
 *
 * Every query schema allows `token` (http-auth.ts reads it before validation runs).
 */
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';

type Schema = Record<string, unknown>;

export const ref = (id: string): Schema => ({ $ref: `${id}#` });

/** Any JSON value: an event's data and metadata (bytes as `{ "$bytes": base64 }`). */
const anyJson: Schema = { description: 'any JSON value; bytes travel as { "$bytes": "<base64>" }' };

const SHARED: Schema[] = [
  {
    $id: 'Error',
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' } },
        additionalProperties: true,
      },
    },
  },
  {
    $id: 'Event',
    type: 'object',
    required: ['streamId', 'version', 'type', 'id', 'timestamp', 'position'],
    properties: {
      streamId: { type: 'string' },
      version: { type: 'integer', minimum: 1 },
      type: { type: 'string' },
      data: anyJson,
      metadata: anyJson,
      id: { type: 'string' },
      commandId: { type: 'string' },
      timestamp: { type: 'integer', description: 'milliseconds since the epoch' },
      position: { type: 'integer', description: 'global log position' },
    },
  },
  {
    $id: 'EventPage',
    type: 'object',
    required: ['events', 'next'],
    properties: {
      events: { type: 'array', items: ref('Event') },
      next: { type: ['integer', 'null'], description: 'the cursor of the next page; null: nothing follows' },
    },
    additionalProperties: true,
  },
  {
    $id: 'StreamInfo',
    type: 'object',
    required: ['streamId', 'version', 'firstPosition', 'lastPosition'],
    properties: {
      streamId: { type: 'string' },
      version: { type: 'integer' },
      firstPosition: { type: 'integer' },
      lastPosition: { type: 'integer' },
    },
  },
  {
    $id: 'EventFilter',
    type: 'object',
    properties: {
      streamPrefix: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      category: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      types: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    },
  },
  {
    $id: 'ConsumerInfo',
    type: 'object',
    required: ['name', 'position', 'live', 'lag', 'lagCapped'],
    properties: {
      name: { type: 'string' },
      position: { type: 'integer', description: 'the last event it handled; 0 before its first' },
      live: { type: 'boolean', description: 'a subscription of it runs in the serving process' },
      lag: { type: 'integer', description: 'events after its position that its filter passes' },
      lagCapped: { type: 'boolean', description: 'the count stopped at its cap: the lag is at least lag' },
      filter: ref('EventFilter'),
    },
  },
];

export function addSharedSchemas(app: FastifyInstance): void {
  for (const s of SHARED) app.addSchema(s);
}

/** The error responses a route can give, besides its own 200/201. */
export function errors(...statuses: number[]): Record<number, Schema> {
  const out: Record<number, Schema> = {};
  for (const s of [400, 401, ...statuses]) out[s] = ref('Error');
  return out;
}

export const token: Schema = { type: 'string', description: 'the server token, when it has one and no Authorization header is sent' };

/** A query object: only the listed fields (and `token`). */
export function query(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties: { ...properties, token }, additionalProperties: false };
}

export function params(properties: Record<string, Schema>): Schema {
  return { type: 'object', required: Object.keys(properties), properties, additionalProperties: false };
}

export const limit = (max: number, fallback: number): Schema => ({
  type: 'integer',
  minimum: 1,
  maximum: max,
  description: `events or streams in one page, 1 to ${max} [${Math.min(fallback, max)}]`,
});
export const position = (description: string): Schema => ({ type: 'integer', minimum: 0, description });
export const direction: Schema = { type: 'string', enum: ['forward', 'backward'] };
/** A repeatable query field: `?types=A&types=B`; one value is a list of one. */
export const list = (description: string): Schema => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  maxItems: 100,
  description,
});
export const nonEmpty = (description: string): Schema => ({ type: 'string', minLength: 1, description });

/**
 * The validator of routes that take a JSON body: no type coercion (a query string is all text and
 * is coerced to its schema's types; a JSON body already has types, and `"expectedVersion": "1"`
 * is a string, refused as the library refuses it, not taken as the number 1).
 */
const strictAjv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false });
export const strictValidator = ({ schema }: { schema: unknown }) => strictAjv.compile(schema as Schema);
