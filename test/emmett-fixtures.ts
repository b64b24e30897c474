// A small Emmett domain (a shopping cart) and a store factory for the annals/emmett tests.
import type { Command, Event } from '@event-driven-io/emmett';
import { afterEach } from 'vitest';
import { type AnnalsEmmettEventStore, type AnnalsEventStoreOptions, getAnnalsEventStore } from '../lib/emmett/index.js';
import type { EngineName } from '../lib/index.js';
import { MiB, tempDir } from './helpers.js';

export type ItemAdded = Event<'ItemAdded', { sku: string; qty: number }>;
export type CartConfirmed = Event<'CartConfirmed', { total: number }>;
export type CartEvent = ItemAdded | CartConfirmed;
export type Cart = { items: number; confirmed: boolean };

export type AddItem = Command<'AddItem', { sku: string; qty: number }>;
export type Confirm = Command<'Confirm', { total: number }>;
export type CartCommand = AddItem | Confirm;

export const initialState = (): Cart => ({ items: 0, confirmed: false });

export function evolve(state: Cart, e: CartEvent): Cart {
  if (e.type === 'ItemAdded') return { ...state, items: state.items + e.data.qty };
  return { ...state, confirmed: true };
}

export function decide(command: CartCommand, state: Cart): CartEvent[] {
  if (state.confirmed) throw new Error('cart already confirmed');
  if (command.type === 'AddItem') return [{ type: 'ItemAdded', data: command.data }];
  return [{ type: 'CartConfirmed', data: command.data }];
}

const handles: AnnalsEmmettEventStore[] = [];

/** An Emmett store over a fresh directory (or `directory`), closed after the test. */
export function emmettStore(
  engine: EngineName,
  options: Partial<AnnalsEventStoreOptions> = {},
): AnnalsEmmettEventStore & { directory: string } {
  const directory = options.directory ?? tempDir();
  const s = getAnnalsEventStore({ chunkSize: MiB, ...options, engine, directory });
  handles.push(s);
  return Object.assign(s, { directory });
}

afterEach(async () => {
  for (const h of handles.splice(0)) await h.close().catch(() => {});
});
