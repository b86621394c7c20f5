// The rotating process of the MAC key kill-and-resume test (archive-mac-rotation.test.ts), bundled
// by the test with esbuild: opens the archive on the token, logs in (PIN from the environment: test
// tokens only), rotates the MAC key and prints each progress event as a JSON line. The test's kill
// hook (CUSTOS_ARCHIVE_KILL_AT) SIGKILLs it mid-rotation.
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { AnchorStore } from '../../electron/services/archive/anchors';
import { ArchiveService } from '../../electron/services/archive/service';

async function main(): Promise<void> {
  const [file, module, token, hostScript, dataDir] = process.argv.slice(2) as [string, string, string, string, string];
  const hsm = new HsmClient(nodeHostSpawner(hostScript, process.env));
  await hsm.call('login', { path: module, token, role: 'user', pin: process.env.MAC_TEST_PIN! });
  const a = ArchiveService.open(file, { hsm: { hsm, module, token }, anchors: new AnchorStore(dataDir) });
  const batchSize = Number(process.env.MAC_TEST_BATCH ?? 0) || undefined;
  const r = await a.rotateMacKey({ actor: 'kill-test', ...(batchSize ? { batchSize } : {}), onProgress: (p) => process.stdout.write(`${JSON.stringify({ progress: p, at: Date.now() })}\n`) });
  process.stdout.write(`${JSON.stringify({ result: r })}\n`);
  a.close();
  await hsm.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
