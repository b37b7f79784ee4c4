// `rdma resource show` rows (qp, cq, pd, mr) that belong to given processes: used to prove nothing leaked.
// The kernel records the thread that created each object (deno test runs tests on worker threads), so a
// process is matched by all of its thread ids.
function threadIds(pid: number): number[] {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/task`)].map((e) => Number(e.name));
  } catch {
    return [pid]; // exited: its main thread id is all that can still appear
  }
}

export async function rdmaResources(...pids: number[]): Promise<string[]> {
  const ours = new Set(pids.flatMap(threadIds));
  const rows: string[] = [];
  for (const kind of ["qp", "cq", "pd", "mr"]) {
    const out = await new Deno.Command("rdma", {
      args: ["-j", "-d", "resource", "show", kind],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`rdma resource show ${kind}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    const text = new TextDecoder().decode(out.stdout).trim();
    for (const r of (text ? JSON.parse(text) : []) as { pid?: number }[]) {
      if (r.pid !== undefined && ours.has(r.pid)) rows.push(`${kind} ${JSON.stringify(r)}`);
    }
  }
  return rows;
}

/** Device-wide object counts (every process) of `device` (rxe0 by default), from `rdma resource show`. */
export async function deviceCounts(device = Deno.env.get("MEMREG_DEVICE")): Promise<Record<string, number>> {
  const out = await new Deno.Command("rdma", { args: ["-j", "resource", "show"], stdout: "piped" }).output();
  const rows = JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, unknown>[];
  const row = rows.find((r) => r.ifname === (device ?? "rxe0")) ?? {};
  return Object.fromEntries(["pd", "cq", "qp", "mr", "cm_id", "ctx"].map((k) => [k, Number(row[k] ?? 0)]));
}
