/** The command line's progress bars: on stderr, so stdout stays the command's output. */
import cliProgress from 'cli-progress';

export function bar(label: string, unit = ''): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total}${unit}`,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: false,
      notTTYSchedule: 2000,
    },
    cliProgress.Presets.shades_classic,
  );
}

/** A bar that starts on the first report and follows a total that may still grow. */
export function progressReporter(label: string, unit = ''): { report: (done: number, total: number) => void; stop: () => void } {
  const b = bar(label, unit);
  let started = false;
  return {
    report(done, total) {
      if (!started) {
        b.start(total, done);
        started = true;
        return;
      }
      b.setTotal(total);
      b.update(done);
    },
    stop() {
      if (started) b.stop();
    },
  };
}
