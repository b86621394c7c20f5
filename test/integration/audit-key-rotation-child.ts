// The rotating process of the audit key kill tests (archive-audit-key-rotation.test.ts), bundled by
// the test with esbuild: opens the archive on the token, logs in (PIN from the environment: test
// tokens only) and rotates the audit key. The test's kill hook (CUSTOS_ARCHIVE_KILL_AT) SIGKILLs it.
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { ArchiveService } from '../../electron/services/archive/service';

async function main(): Promise<void> {
  const [file, module, token, hostScript, dataDir] = process.argv.slice(2) as [string, string, string, string, string];
  const hsm = new HsmClient(nodeHostSpawner(hostScript, process.env));
  await hsm.call('login', { path: module, token, role: 'user', pin: process.env.KEK_TEST_PIN! });
  const a = ArchiveService.open(file, { hsm: { hsm, module, token }, anchors: new AnchorStore(dataDir) });
  const r = await a.rotateAuditKey({ actor: 'kill-test' });
  process.stdout.write(`${JSON.stringify({ result: r })}\n`);
  a.close();
  await hsm.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
