// `memreg devices`: every RDMA device with its decoded capabilities, as a table or the JSON record.
import type { Command } from "commander";
import type { DevicesOutput } from "../record/device.ts";
import { type DeviceOptions, deviceOptions, ensureDevice } from "./options.ts";
import { transportName } from "../reports/transport.ts";

/** Registers `memreg devices` on the program. */
export function registerDevices(program: Command): void {
  deviceOptions(
    program.command("devices").description("list RDMA devices with decoded capabilities")
      .option("--json", "print the JSON record"),
  ).action(async (opts: DeviceOptions & { json?: boolean }) => {
    await ensureDevice(opts);
    // The binding is loaded only once a device is there to read.
    const { collectDevices } = await import("../record/device.ts");
    const out = collectDevices(opts.device);
    console.log(opts.json ? JSON.stringify(out, null, 2) : formatDevices(out));
  });
}

/** The table `memreg devices` prints. */
export function formatDevices(out: DevicesOutput): string {
  const lines: string[] = [];
  const h = out.host;
  lines.push(
    `host ${h.hostname}: kernel ${h.kernel}, rdma-core ${h.rdmaCore ?? "?"}, ${h.cpu ?? "cpu ?"}` +
      (h.testbed ? " (QEMU testbed)" : ""),
  );
  if (out.devices.length === 0) lines.push("no RDMA devices");
  for (const d of out.devices) {
    lines.push("");
    const row = (k: string, v: string | number) => lines.push(`  ${k.padEnd(18)} ${v}`);
    lines.push(`${d.name}  ${d.model}`);
    row("node GUID", d.nodeGuid);
    // RoCE reports the InfiniBand transport type: the name users know, with the verbs' own where it differs.
    const transport = transportName(d);
    row("transport", transport === d.transport ? transport : `${transport} (verbs transport ${d.transport})`);
    row("vendor / part", `${d.vendorId} / ${d.vendorPartId} (hw ${d.hwVer})`);
    row("firmware", d.firmware || "-");
    row("NUMA node", d.numaNode < 0 ? "-" : d.numaNode);
    row("max_mr_size", d.maxMrSize);
    row("page_size_cap", d.pageSizeCap);
    row("max_mr / max_mw", `${d.maxMr} / ${d.maxMw}`);
    row("max_qp / wr / cqe", `${d.maxQp} / ${d.maxQpWr} / ${d.maxCqe}`);
    row("cap flags", `${d.deviceCapFlagsRaw}: ${d.deviceCapFlags.join(" ")}`);
    const odp = d.odp.general.length ? `${d.odp.general.join(" ")}; RC ${d.odp.rc.join(" ") || "-"}` : "none";
    row("ODP", odp);
    for (const p of d.ports) {
      row(
        `port ${p.port}`,
        `${p.state}, ${p.linkLayer}, MTU ${p.activeMtu}/${p.maxMtu}, ${p.width}` +
          (p.speedGbps ? ` ${p.speedGbps} Gb/s per lane` : "") +
          (p.linkLayer === "InfiniBand" ? `, LID ${p.lid}` : ""),
      );
      for (const g of p.gids) row(`  GID[${g.index}]`, `${g.gid}  ${g.type}`);
    }
  }
  return lines.join("\n");
}
