// Loads libibverbs and libc once: one symbol table each, thin typed wrappers live in the per-object modules.
const IBVERBS_SYMBOLS = {
  ibv_get_device_list: { parameters: ["pointer"], result: "pointer" },
  ibv_free_device_list: { parameters: ["pointer"], result: "void" },
  ibv_get_device_name: { parameters: ["pointer"], result: "pointer" },
  ibv_get_device_guid: { parameters: ["pointer"], result: "u64" },
  ibv_open_device: { parameters: ["pointer"], result: "pointer" },
  ibv_close_device: { parameters: ["pointer"], result: "i32" },
  ibv_query_device: { parameters: ["pointer", "pointer"], result: "i32" },
  _ibv_query_gid_ex: { parameters: ["pointer", "u32", "u32", "pointer", "u32", "usize"], result: "i32" },
  ibv_query_port: { parameters: ["pointer", "u8", "pointer"], result: "i32" },
  ibv_alloc_pd: { parameters: ["pointer"], result: "pointer" },
  ibv_dealloc_pd: { parameters: ["pointer"], result: "i32" },
  ibv_reg_mr: { parameters: ["pointer", "pointer", "usize", "i32"], result: "pointer" },
  ibv_reg_mr_iova2: { parameters: ["pointer", "pointer", "usize", "u64", "u32"], result: "pointer" },
  // libibverbs 1.12 (rdma-core 34) on: optional, so an older library still loads.
  ibv_reg_dmabuf_mr: {
    parameters: ["pointer", "u64", "usize", "u64", "i32", "i32"],
    result: "pointer",
    optional: true,
  },
  ibv_rereg_mr: { parameters: ["pointer", "i32", "pointer", "pointer", "usize", "i32"], result: "i32" },
  ibv_dereg_mr: { parameters: ["pointer"], result: "i32" },
  ibv_create_cq: { parameters: ["pointer", "i32", "pointer", "pointer", "i32"], result: "pointer" },
  ibv_destroy_cq: { parameters: ["pointer"], result: "i32" },
  ibv_create_qp: { parameters: ["pointer", "pointer"], result: "pointer" },
  ibv_modify_qp: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  ibv_query_qp: { parameters: ["pointer", "pointer", "i32", "pointer"], result: "i32" },
  ibv_destroy_qp: { parameters: ["pointer"], result: "i32" },
  ibv_fork_init: { parameters: [], result: "i32" },
} as const;

const LIBC_SYMBOLS = {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  mremap: { parameters: ["pointer", "usize", "usize", "i32", "pointer"], result: "pointer" },
  memcpy: { parameters: ["pointer", "pointer", "usize"], result: "pointer" },
  memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
} as const;

/** The libibverbs symbols memreg binds. */
export type IbverbsLib = Deno.DynamicLibrary<typeof IBVERBS_SYMBOLS>["symbols"];
/** The libc symbols memreg binds (mmap, errno, strerror, …). */
export type LibcLib = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** Thrown when libibverbs cannot be loaded; its message is the one line a user sees. */
export class LibraryMissingError extends Error {}

let ibv: IbverbsLib | undefined;
let libc: LibcLib | undefined;

/** The libibverbs to open: MEMREG_LIBIBVERBS, or libibverbs.so.1. */
export function ibverbsPath(): string {
  return Deno.env.get("MEMREG_LIBIBVERBS") ?? "libibverbs.so.1";
}

/** libibverbs, opened on first use; throws LibraryMissingError when it cannot be loaded. */
export function ibverbs(): IbverbsLib {
  if (!ibv) {
    try {
      ibv = Deno.dlopen(ibverbsPath(), IBVERBS_SYMBOLS).symbols;
    } catch (e) {
      throw new LibraryMissingError(
        `cannot load ${ibverbsPath()} (${(e as Error).message.split("\n")[0]}): install libibverbs1 and ` +
          `ibverbs-providers (Debian/Ubuntu) or libibverbs and rdma-core (RHEL/Fedora), or set MEMREG_LIBIBVERBS`,
      );
    }
  }
  return ibv;
}

/** libc, opened on first use. */
export function c(): LibcLib {
  libc ??= Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
  return libc;
}

/** errno of this thread, read right after a call that failed. */
export function errno(): number {
  return new Deno.UnsafePointerView(c().__errno_location()!).getInt32(0);
}

/** The C library's message for an errno value. */
export function strerror(err: number): string {
  const p = c().strerror(err);
  return p ? Deno.UnsafePointerView.getCString(p) : `errno ${err}`;
}

/** A pointer's address as a bigint (0n for null). */
export function ptrValue(p: Deno.PointerValue): bigint {
  return BigInt(Deno.UnsafePointer.value(p));
}

/** The pointer at an address (null for 0). */
export function ptrOf(v: bigint | number): Deno.PointerValue {
  return Deno.UnsafePointer.create(BigInt(v));
}
