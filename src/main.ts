import { failureLine, runCli } from './cli.ts';

// `reel export … | head`: a reader that goes away is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  process.stderr.write(failureLine(err));
  process.exit(1);
});

const argv = process.argv.slice(2);
const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
if (code !== 0 || argv[0] !== 'serve') {
  // PGlite and Prisma leave timers behind: exit once stdout has drained.
  process.stdout.write('', () => process.exit(code));
}
