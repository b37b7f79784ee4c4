// --emit-c: a tape as a standalone libibverbs C program (emit/prelude.c plus a replaying main()) for people
// without Deno; it prints the same "label=value" facts memreg recorded, so the two can be compared.
import { join } from "node:path";
import { WC_STATUS, WcFlags, WcOpcode } from "../ffi/mod.ts";
import { errnoName } from "../ffi/errors.ts";
import { SETTLE_MS } from "./fixture/mod.ts";
import type { KeyExpr, Tape, TapeOp, TapeStep } from "./tape.ts";
import { writeText } from "../record/stream.ts";

const PRELUDE = new URL("./emit/prelude.c", import.meta.url);

/** The C name tables, made from memreg's: the program prints exactly the names memreg records. */
function tables(): string {
  const errnos = Array.from({ length: 134 }, (_, i) => i).filter((e) => !/^E\d+$/.test(errnoName(e)));
  const str = (s: string) => JSON.stringify(s);
  return [
    "static const struct { int n; const char *s; } ERRNO_NAMES[] = {",
    ...errnos.map((e) => `\t{${e}, ${str(errnoName(e))}},`),
    "};",
    `static const char *WC_STATUS[] = {${WC_STATUS.map(str).join(", ")}};`,
    "static const struct { int n; const char *s; } WC_FLAGS[] = {",
    ...Object.entries(WcFlags).map(([n, v]) => `\t{${v}, ${str(n)}},`),
    "};",
    "static const char *wc_opcode_name(int op) {",
    "\tstatic char buf[16];",
    ...Object.entries(WcOpcode).map(([v, n]) => `\tif (op == ${v}) return ${str(n)};`),
    '\tsnprintf(buf, sizeof buf, "%d", op);',
    "\treturn buf;",
    "}",
    `#define MEMREG_SETTLE_MS ${SETTLE_MS}`,
  ].join("\n");
}

const num = (id: string) => Number(id.replace(/^[a-z]+/, ""));
const cstr = (s: string | null) => (s === null ? "NULL" : JSON.stringify(s));

/** The C expression that computes a key. */
export function keyC(k: KeyExpr): string {
  if ("lit" in k) return `0x${(k.lit >>> 0).toString(16)}u`;
  if ("k" in k) return `K[${k.k}]`;
  if ("inc" in k) return `ibv_inc_rkey(${keyC(k.inc)})`;
  return `(${keyC(k.xor)} ^ 0x${k.mask.toString(16)}u)`;
}

/** The landing buffer's MR: the registration step right after the buffer's creation. */
function landingMr(steps: TapeStep[], landing: string): number {
  const reg = steps.find((s) => s.op === "reg" && s.label === null && s.buf === landing);
  if (!reg || reg.op !== "reg") throw new Error(`emit-c: no registration of landing buffer ${landing}`);
  return num(reg.id);
}

function opC(o: TapeOp, steps: TapeStep[]): string {
  const f: string[] = [];
  const raddr = (r?: string) => (r !== undefined ? [".has_raddr = 1", `.raddr = ${r}ull`] : []);
  switch (o.kind) {
    case "write":
    case "read":
      f.push(
        `.kind = ${o.kind === "write" ? "OP_WRITE" : "OP_READ"}`,
        `.key = ${keyC(o.key)}`,
        `.target = ${num(o.target)}`,
        `.off = ${o.off}`,
        `.len = ${o.len}`,
        ...raddr(o.raddr),
        ...(o.lkey ? [".has_lkey = 1", `.lkey = ${keyC(o.lkey)}`] : []),
        `.from_b = ${o.from === "B" ? 1 : 0}`,
        ...(o.landing
          ? [`.landing = ${num(o.landing)}`, `.landing_mr = ${landingMr(steps, o.landing)}`]
          : []),
        ...(o.unplaced ? [".unplaced = 1"] : []),
      );
      break;
    case "atomic":
      f.push(
        ".kind = OP_ATOMIC",
        `.key = ${keyC(o.key)}`,
        `.target = ${num(o.target)}`,
        `.off = ${o.off}`,
        ...raddr(o.raddr),
        `.fadd = ${o.op === "fadd" ? 1 : 0}`,
        `.compare_add = ${o.compareAdd}ull`,
        `.swap = ${o.swap}ull`,
        `.landing = ${num(o.landing)}`,
        `.landing_mr = ${landingMr(steps, o.landing)}`,
      );
      break;
    case "send":
      f.push(".kind = OP_SEND", `.key = ${keyC(o.key)}`, ".target = -1", ...(o.plain ? [".plain = 1"] : []));
      break;
    case "local":
      f.push(".kind = OP_LOCAL", `.key = ${keyC(o.key)}`, ".target = -1");
      break;
    case "bind":
      f.push(
        ".kind = OP_BIND",
        `.key = ${keyC(o.key)}`,
        `.mw = ${num(o.mw)}`,
        `.mr = ${o.mr ? num(o.mr) : -1}`,
        `.target = ${num(o.buf)}`,
        `.off = ${o.off}`,
        `.blen = ${o.len}ull`,
        `.access = 0x${o.access.toString(16)}`,
      );
      break;
  }
  if (o.fence) f.push(".fence = 1");
  return `{${f.join(", ")}}`;
}

function stepC(s: TapeStep, steps: TapeStep[]): string[] {
  const obj = (id: string) =>
    id.startsWith("mr") ? `F.mr[${num(id)}]` : id.startsWith("mw") ? `F.mw[${num(id)}]` : `F.pd[${num(id)}]`;
  switch (s.op) {
    case "buf":
      return [`fx_buf(${s.size}); /* ${s.id} */`];
    case "pd":
      return [`fx_pd(${num(s.id)});`];
    case "reg":
      return [
        `fx_reg(${cstr(s.label)}, ${s.id === "-" ? -1 : num(s.id)}, ${cstr(s.pd)}, ${
          num(s.buf)
        }, ${s.off}, ` +
        `${s.len}ull, 0x${s.access.toString(16)}, ${cstr(s.iova ?? null)}, ${cstr(s.addr ?? null)});`,
      ];
    case "release":
      return [
        `fx_release(${cstr(s.label)}, '${
          s.obj.startsWith("mr") ? "r" : s.obj.startsWith("mw") ? "w" : "p"
        }', ${num(s.obj)});`,
      ];
    case "rereg":
      return [
        `fx_rereg(${cstr(s.label)}, ${num(s.mr)}, ${s.flags}, 0x${(s.access ?? 0).toString(16)}, ` +
        `${cstr(s.pd ?? null)}, ${s.buf ? num(s.buf) : -1}, ${s.off ?? 0}, ${s.len ?? 0});`,
      ];
    case "mw":
      return [`fx_mw(${num(s.id)}, ${s.type}, ${cstr(s.pd)});`];
    case "mwTry":
      return [`fx_mw_try(${cstr(s.label)}, ${s.type}, ${cstr(s.pd)});`];
    case "regDmabuf":
      return [
        `fx_reg_dmabuf(${cstr(s.label)}, ${s.id === "-" ? -1 : num(s.id)}, ${cstr(s.pd)}, ${s.size}, ` +
        `${s.udmabuf ? 1 : 0}, ${s.offset}ull, ${s.len}ull, ${s.iova}ull, 0x${s.access.toString(16)});`,
      ];
    case "counts":
      return [`fx_counts(${cstr(s.label)}, ${cstr(s.base ?? null)});`];
    case "bindUd":
    case "bindEx": {
      const mr = s.mr ? num(s.mr) : -1, fn = s.op === "bindUd" ? "fx_bind_ud" : "fx_bind_ex";
      return [
        `${fn}(${cstr(s.label)}, ${num(s.mw)}, ${keyC(s.key)}, ${mr}, ${
          num(s.buf)
        }, ${s.off}, ${s.len}ull, ` +
        `0x${s.access.toString(16)});`,
      ];
    }
    case "bind1":
      return [
        `fx_bind1(${cstr(s.label)}, ${num(s.mw)}, ${s.mr ? num(s.mr) : -1}, ${
          num(s.buf)
        }, ${s.off}, ${s.len}ull, ` +
        `0x${s.access.toString(16)}, '${s.via}', ${s.null ? 1 : 0});`,
      ];
    case "bind2":
      return [
        `fx_bind2(${cstr(s.label)}, ${num(s.mw)}, ${keyC(s.key)}, ${s.mr ? num(s.mr) : -1}, ${num(s.buf)}, ` +
        `${s.off}, ${s.len}ull, 0x${s.access.toString(16)}, '${s.via}');`,
      ];
    case "post":
      return [
        "{",
        `\tstruct op ops[] = {${s.ops.map((o) => opC(o, steps)).join(", ")}};`,
        `\tpost_ops(${cstr(s.label)}, '${s.via}', ops, ${s.ops.length}, ${s.deadlineMs ?? 0}, ${
          s.missingOk ? 1 : 0
        });`,
        "}",
      ];
    case "recv":
      return [
        `fx_recv_at('${s.side}', ${s.buf ? num(s.buf) : -1}, ${s.lkey ? `1, ${keyC(s.lkey)}` : "0, 0"});`,
      ];
    case "collect": {
      if (!s.ago && !s.deadlineMs && !s.missingOk) {
        return [`fx_collect(${cstr(s.label)}, '${s.side}', ${s.n});`];
      }
      const ago = s.ago ?? Array.from({ length: s.n }, (_, i) => s.n - i);
      return [
        "{",
        `\tstatic const int ago[] = {${ago.join(", ")}};`,
        `\tfx_collect_ago(${cstr(s.label)}, '${s.side}', ${s.n}, ago, ${s.deadlineMs ?? 0}, ${
          s.missingOk ? 1 : 0
        });`,
        "}",
      ];
    }
    case "data":
      return [`fx_data(${cstr(s.label)}, ${num(s.buf)});`];
    case "states":
      return [`fx_states(${cstr(s.prefix)});`];
    case "recover": {
      const pairs = s.pairs ?? ["AB"];
      const ab = pairs.includes("AB") ? 1 : 0, cd = pairs.includes("CD") ? 1 : 0;
      if (s.retryCnt !== undefined) return [`fx_recover_retry(${ab}, ${cd}, ${s.retryCnt});`];
      return [`fx_recover(${ab}, ${cd});`];
    }
    case "pair":
      return ["fx_pair();"];
    case "qpState":
      return [`fx_qp_state('${s.side}', ${s.state === "ERR" ? 1 : 0});`];
    case "destroyQp":
      return [`fx_destroy_qp(${cstr(s.label)}, '${s.side}');`];
    case "unmap":
      return [`fx_unmap(${num(s.buf)});`];
    case "madvise":
      return [`fx_madvise(${num(s.buf)}, ${s.advice}, ${s.off}, ${s.len});`];
    case "advise":
      return [
        `fx_advise(${cstr(s.label)}, ${num(s.mr)}, ${s.advice}, ${s.flags}, ${
          num(s.buf)
        }, ${s.off}, ${s.len}, ` +
        `${s.lkey ? `1, ${keyC(s.lkey)}` : "0, 0"});`,
      ];
    case "intend":
      return [`fx_intend_send(${num(s.buf)}, ${s.off}, ${s.len});`];
    case "remap":
      return [`fx_remap(${num(s.buf)}, ${s.seed});`];
    case "name":
      return [`fx_name(${keyC(s.key)}, ${cstr(s.name)});`];
    case "key":
      return [`K[${s.k}] = ${obj(s.obj)}->${s.which};`];
    case "churn":
      return [
        "{",
        `\tint live[] = {${s.live.map(num).join(", ")}};`,
        `\tfx_churn(${cstr(s.label)}, ${s.trials}, live, ${s.live.length});`,
        "}",
      ];
    case "reuse":
      return [`fx_reuse(${cstr(s.label)}, ${cstr(s.what)}, ${s.trials}, ${s.k});`];
  }
}

/** One C program to write: its name, what it reproduces, and the tape it replays. */
export interface EmitWhat {
  /** File name stem, e.g. the case id or "fuzz-vol1.rkey-bounds-1". */
  name: string;
  /** What it reproduces, for the comment at the top and the README. */
  summary: string;
  /** The facts memreg recorded, to compare the program's output with. */
  facts: Record<string, unknown>;
  /** The steps the program replays. */
  tape: Tape;
}

/** The whole C program for one tape. */
export function emitProgram(w: EmitWhat): string {
  const prelude = Deno.readTextFileSync(PRELUDE).replace("MEMREG_TABLES", tables());
  const body = w.tape.steps.flatMap((s) => stepC(s, w.tape.steps)).map((l) => `\t${l}`);
  const seen = Object.entries(w.facts).map(([k, v]) => ` *   ${k}=${v}`);
  return [
    prelude,
    "",
    `/* ${w.name}: ${w.summary.replaceAll("*/", "* /")}`,
    " * memreg recorded these facts (this program prints the ones it can observe, in the same form):",
    ...seen.map((l) => l.replaceAll("*/", "* /")),
    " */",
    "int main(void) {",
    `\tfx_open(${w.tape.separatePd ? 1 : 0});`,
    ...body,
    "\tfx_close();",
    "\treturn 0;",
    "}",
    "",
  ].join("\n");
}

/**
 * Whether a run records tapes: for its own --emit-c or --dossier, or for the host's (--tape: under crash survival the guest
 * records, the host writes the C programs).
 */
export function wantsTapes(o: { tape?: boolean; emitC?: string; dossier?: string }): boolean {
  return !!(o.tape || o.emitC || o.dossier);
}

/** Writes one program per item into `dir` and a README on building them; returns the program file names. */
export function emitAll(dir: string, items: EmitWhat[]): string[] {
  const files = items.map((w) => {
    const file = `${w.name.replace(/[^A-Za-z0-9_.-]/g, "_")}.c`;
    writeText(join(dir, file), emitProgram(w));
    return file;
  });
  const readme = [
    "# memreg counterexamples as C programs",
    "",
    "Each program is standalone (libibverbs only) and prints the facts memreg recorded, one `label=value` per",
    "line. Build and run one with:",
    "",
    "    cc -O1 -o prog prog.c -libverbs && MEMREG_DEVICE=rxe0 ./prog",
    "",
    "(MEMREG_DEVICE defaults to the first device; MEMREG_PORT, MEMREG_GID and MEMREG_STEP_DEADLINE_MS are",
    "optional.) Compare the output with the facts listed in the comment above main().",
    "",
    "On an iWARP device (e.g. siw0) the programs connect their QPs through rdma_cm, as memreg does: build them",
    "where librdmacm's headers are (librdmacm-dev); librdmacm.so.1 is loaded when they run (no -lrdmacm).",
    "",
    ...items.map((w, i) => `- \`${files[i]}\`: ${w.summary}`),
    "",
  ].join("\n");
  writeText(join(dir, "README.md"), readme);
  return files;
}

/** The facts a program printed. */
export function parseFacts(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
