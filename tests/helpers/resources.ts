// `rdma resource show` rows (qp, cq, pd, mr) that belong to a process: used to prove nothing leaked.
export async function rdmaResources(pid: number): Promise<string[]> {
  const rows: string[] = [];
  for (const kind of ["qp", "cq", "pd", "mr"]) {
    const out = await new Deno.Command("rdma", {
      args: ["-j", "resource", "show", kind],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`rdma resource show ${kind}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    const text = new TextDecoder().decode(out.stdout).trim();
    for (const r of (text ? JSON.parse(text) : []) as { pid?: number }[]) {
      if (r.pid === pid) rows.push(`${kind} ${JSON.stringify(r)}`);
    }
  }
  return rows;
}
