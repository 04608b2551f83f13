// The shipped executable's entry (`bun build --compile`, docs/performance.md): the binary is
// <package>/bin/berth, also when run through a symlink, so the helper is found beside it.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

const pkg = join(dirname(realpathSync(process.execPath)), '..');
// run as berth-oci (setup's symlink), it is the OCI runtime; both turn every error into a
// message and an exit code: neither rejects
const run = /(^|\/)berth-oci$/.test(process.argv0)
  ? import('../oci/main.ts').then((m) =>
      m.ociMain(process.argv.slice(2), process.env['BERTH_HELPER'] || join(pkg, 'helper/berth-nsexec')),
    )
  : // the CLI's modules load only for it: berth-oci, which the shim runs a few times per
    // container, evaluates none of them
    import('./berth.ts').then((m) => m.main(process.argv.slice(2), undefined, pkg));
void run.then((code) => {
  process.exitCode = code;
});
