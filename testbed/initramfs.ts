// Builds (and caches per kernel) the tiny busybox initramfs that boots the testbed. Modules are
// decompressed here on the host because busybox insmod cannot be relied on to read .ko.xz/.ko.zst.
import { join } from "node:path";
import { cacheDir, exists, run } from "./paths.ts";
import type { KernelInfo } from "./kernels.ts";

/** What stage 1 needs: virtio PCI transport, 9p over virtio, and virtio-serial for output ports. */
export const INITRAMFS_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "virtio_console"];
/** The static busybox the initramfs runs stage 1 with. */
export const BUSYBOX = "/bin/busybox";
const INIT_SCRIPT = new URL("./guest/init.sh", import.meta.url);

interface ModDep {
  path: string;
  deps: string[];
}

const modName = (path: string) => path.replace(/^.*\//, "").replace(/\.ko(\.\w+)?$/, "").replaceAll("-", "_");

/** Module files (relative to modulesDir) for `wanted` and their dependencies, dependencies first. */
export function moduleLoadOrder(modulesDir: string, wanted: string[] = INITRAMFS_MODULES): string[] {
  const deps = new Map<string, ModDep>();
  for (const line of Deno.readTextFileSync(join(modulesDir, "modules.dep")).split("\n")) {
    const [path, rest] = line.split(":");
    if (path && rest !== undefined) {
      deps.set(modName(path), { path, deps: rest.trim().split(/\s+/).filter(Boolean) });
    }
  }
  const builtin = new Set(
    (exists(join(modulesDir, "modules.builtin"))
      ? Deno.readTextFileSync(join(modulesDir, "modules.builtin")).split("\n")
      : []).map(modName),
  );
  const order: string[] = [];
  const visit = (name: string) => {
    const d = deps.get(name);
    if (!d) {
      if (builtin.has(name)) return;
      throw new Error(`module ${name} not found in ${modulesDir}/modules.dep`);
    }
    if (order.includes(d.path)) return;
    for (const p of d.deps) visit(modName(p));
    order.push(d.path);
  };
  wanted.forEach(visit);
  return order;
}

/** Returns the path of a cpio (newc) initramfs for this kernel, rebuilding it when its inputs change. */
export async function buildInitramfs(kernel: KernelInfo): Promise<string> {
  const mods = moduleLoadOrder(kernel.modulesDir);
  const init = await Deno.readTextFile(INIT_SCRIPT);
  const stamp = [init, statKey(BUSYBOX), ...mods.map((m) => `${m} ${statKey(join(kernel.modulesDir, m))}`)];
  const hash = await sha256(stamp.join("\n"));
  const dir = join(cacheDir, "initramfs");
  const out = join(dir, `${kernel.version}-${hash.slice(0, 16)}.cpio`);
  if (exists(out)) return out;

  await Deno.mkdir(dir, { recursive: true });
  const stage = await Deno.makeTempDir({ dir, prefix: ".build-" });
  try {
    for (const d of ["bin", "modules", "proc", "sys", "dev", "newroot"]) await Deno.mkdir(join(stage, d));
    await Deno.copyFile(BUSYBOX, join(stage, "bin", "busybox"));
    await Deno.chmod(join(stage, "bin", "busybox"), 0o755);
    await Deno.writeTextFile(join(stage, "init"), init, { mode: 0o755 });
    await Deno.chmod(join(stage, "init"), 0o755);
    const names: string[] = [];
    for (const m of mods) {
      const name = `${modName(m)}.ko`;
      await Deno.writeFile(join(stage, "modules", name), await decompress(join(kernel.modulesDir, m)));
      names.push(name);
    }
    await Deno.writeTextFile(join(stage, "modules", "order"), names.join("\n") + "\n");
    const files = [
      "init",
      "bin",
      "bin/busybox",
      "modules",
      "modules/order",
      ...names.map((n) => `modules/${n}`),
    ]
      .concat(["proc", "sys", "dev", "newroot"]);
    const cpio = await run("cpio", ["-o", "-H", "newc", "-R", "0:0", "--quiet"], {
      cwd: stage,
      stdin: new TextEncoder().encode(files.join("\n") + "\n"),
    });
    // Write then rename, so a concurrent run never boots a half-written image; drop stale builds.
    await Deno.writeFile(`${out}.tmp`, cpio);
    await Deno.rename(`${out}.tmp`, out);
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.startsWith(`${kernel.version}-`) && join(dir, e.name) !== out && e.name.endsWith(".cpio")) {
        await Deno.remove(join(dir, e.name)).catch(() => {});
      }
    }
    return out;
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

async function decompress(path: string): Promise<Uint8Array> {
  if (path.endsWith(".xz")) return await run("xz", ["-dc", path]);
  if (path.endsWith(".zst")) return await run("zstd", ["-dcq", path]);
  if (path.endsWith(".gz")) return await run("gzip", ["-dc", path]);
  return await Deno.readFile(path);
}

function statKey(path: string): string {
  const st = Deno.statSync(path);
  return `${st.size}:${st.mtime?.getTime()}`;
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
