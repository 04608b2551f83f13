// berth set: change resources and settings, live on a running container and/or saved (--save).
import { formatConfig, setKeys, toRecord } from '../core/config.ts';
import { ctConfigFrom } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { limitsV1, limitsV2 } from '../core/limits.ts';
import { formatIpList, formatPortFwd, ipChanges, parseIpList, portFwdChanges } from '../core/net.ts';
import { type SetOptions, setOptionsToKeys } from '../core/set-options.ts';
import { applyWrites } from '../host/cgroups.ts';
import { runHelperSimple } from '../host/helper.ts';
import { readGlobal, writeCtText, writeState } from '../host/store.ts';
import type { Ctx } from './context.ts';
import {
  changeIpsLive,
  checkIpsFree,
  checkPortsFree,
  nftFor,
  resolvConfFor,
  syncNft,
  writeResolvConfLive,
} from './net.ts';
import { cgroupDirsOf, mustExist, reconcile, withLock } from './runtime.ts';

export interface SetResult {
  applied: boolean;
  saved: boolean;
  keys: Record<string, string>;
}

export function setContainer(ctx: Ctx, id: CtId, opts: SetOptions, save: boolean): Promise<SetResult> {
  const keys = setOptionsToKeys(opts); // every value is validated before anything is touched
  ipChanges(
    [],
    opts.ipadd,
    (opts.ipdel ?? []).filter((d) => d !== 'all'),
  ); // validates them too
  const ipsChange = Boolean(opts.ipadd?.length || opts.ipdel?.length);
  const fwdDel = opts['portfwd-del'] ?? [];
  portFwdChanges(
    [],
    opts.portfwd,
    fwdDel.filter((d) => d !== 'all'),
  ); // validates them too
  const fwdChange = Boolean(opts.portfwd?.length || fwdDel.length);
  if (Object.keys(keys).length === 0 && !ipsChange && !fwdChange) {
    throw new BerthError('BAD_SYNTAX', `set ${id}: nothing to set`, { hint: 'see berth help set' });
  }
  return withLock(ctx, id, 'set', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    const running = now.status !== 'stopped';
    if (!running && !save) {
      throw new BerthError('NOT_RUNNING', `set ${id}: container is not running, so nothing applies now`, {
        hint: 'add --save to change its saved configuration',
      });
    }
    // the saved list and the running container's list differ after a change without --save
    const saved = ipChanges(ct.config.ipAddr, opts.ipadd, opts.ipdel);
    const liveNow = now.state?.ips ? parseIpList(now.state.ips.join(' ')) : ct.config.ipAddr;
    const live = ipChanges(liveNow, opts.ipadd, opts.ipdel);
    if (ipsChange) {
      checkIpsFree(ctx, id, [...(save ? saved.add : []), ...(running ? live.add : [])]);
      keys['IP_ADDRESS'] = formatIpList(save ? saved.next : live.next);
    }
    if (fwdChange) {
      const fwds = portFwdChanges(ct.config.portFwd, opts.portfwd, fwdDel);
      checkPortsFree(ctx, id, fwds);
      keys['PORTFWD'] = fwds.map(formatPortFwd).join(' ');
    }
    const file = setKeys(ct.file, keys);
    const next = ctConfigFrom(id, toRecord(file), readGlobal(ctx.paths));
    if (running) {
      const layout = ctx.layout();
      const dirs = cgroupDirsOf(ctx, id);
      applyWrites(dirs, layout.kind === 'v1' ? limitsV1(next.resources) : limitsV2(next.resources));
      if (keys['HOSTNAME'] && now.pid !== null) setLiveHostname(ctx, now.pid, keys['HOSTNAME']);
      const resolv = resolvConfFor(next);
      if ((keys['NAMESERVER'] !== undefined || keys['SEARCHDOMAIN'] !== undefined) && resolv && now.pid !== null) {
        writeResolvConfLive(ctx, now.pid, resolv);
      }
      if (now.pid !== null && now.state) {
        if (live.add.length || live.del.length) {
          changeIpsLive(ctx, next, now.pid, { had: liveNow, add: live.add, del: live.del });
        }
        const nft = nftFor(next, live.next);
        syncNft(ctx, `set ${id}`, now.state.nft ?? [], nft);
        writeState(ctx.paths, id, { ...now.state, ips: live.next.map((i) => i.addr), nft });
      }
    }
    if (save) writeCtText(ctx.paths, id, formatConfig(file));
    return { applied: running, saved: save, keys };
  });
}

function setLiveHostname(ctx: Ctx, pid: number, hostname: string): void {
  runHelperSimple(ctx.paths.helper, ['--join', String(pid), '--unshare', 'uts', '--hostname', hostname], 'SYSTEM');
}
