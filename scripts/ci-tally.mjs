// Prints the closing tally of a CI run: vitest's JSON report plus the native test binary's own
// "N passed, N failed" line from the log. A failed step that produced neither counts as a failure,
// so the tally can never read "0 failed" for a red run. Exits 1 when anything failed or nothing ran.
import fs from 'node:fs';

const [logFile, statusText] = process.argv.slice(2);
const log = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
let passed = 0;
let failed = 0;
let sources = 0;
if (fs.existsSync('.vitest-report.json')) {
  const report = JSON.parse(fs.readFileSync('.vitest-report.json', 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0);
  sources++;
}
// The native test binary's own line ("1: N passed, N failed" under ctest -V), the other ctest
// tests (fuzz corpus regressions) from ctest's summary, and the fuzzing run's line.
const native = [...log.matchAll(/^\d+: (\d+) passed, (\d+) failed$/gm)].at(-1);
if (native) {
  passed += Number(native[1]);
  failed += Number(native[2]);
  sources++;
}
const ctest = [...log.matchAll(/tests passed, (\d+) tests failed out of (\d+)/g)].at(-1);
if (ctest) {
  const others = Number(ctest[2]) - 1;
  const othersFailed = Math.max(0, Number(ctest[1]) - (native && Number(native[2]) > 0 ? 1 : 0));
  passed += others - othersFailed;
  failed += othersFailed;
}
const fuzz = [...log.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
if (fuzz) {
  passed += Number(fuzz[1]);
  failed += Number(fuzz[2]);
}
const status = Number(statusText ?? 0);
if (status !== 0 && failed === 0) failed = 1;
console.log(`vitest report: ${fs.existsSync('.vitest-report.json') ? 'found' : 'missing'}; native tests: ${native ? 'ran' : 'missing'}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || sources < 2 || passed === 0 ? 1 : 0);
