// dma-buf file descriptors for ibv_reg_dmabuf_mr: a sealed memfd exported through /dev/udmabuf (the one dma-buf
// exporter an unprivileged test can use without a GPU), or the bare memfd, which is not a dma-buf.
import { c, errno, strerror } from "./lib.ts";

const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_SHRINK = 2;
const O_RDWR = 2;
/** _IOW('u', 0x42, struct udmabuf_create): linux/udmabuf.h. */
const UDMABUF_CREATE = 0x40187542n;
const UDMABUF_FLAGS_CLOEXEC = 1;

/** The udmabuf device node; absent where the kernel has no udmabuf driver (CONFIG_UDMABUF). */
export const UDMABUF_DEV = "/dev/udmabuf";

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

function fail(what: string): never {
  const e = errno();
  throw new Error(`${what}: ${strerror(e)}`);
}

/**
 * A file descriptor of `size` bytes: with `udmabuf`, a dma-buf made by /dev/udmabuf from a sealed memfd;
 * otherwise the memfd itself. The caller closes it (closeFd). Throws when a step fails.
 */
export function makeDmabuf(size: number, udmabuf: boolean): number {
  const lib = c();
  const mfd = lib.memfd_create(cstr("memreg-dmabuf"), MFD_ALLOW_SEALING);
  if (mfd < 0) fail("memfd_create");
  if (lib.ftruncate(mfd, BigInt(size)) !== 0) fail("ftruncate");
  if (!udmabuf) return mfd;
  try {
    if (lib.fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) !== 0) fail("fcntl(F_ADD_SEALS)");
    const dev = lib.open(cstr(UDMABUF_DEV), O_RDWR);
    if (dev < 0) fail(`open ${UDMABUF_DEV}`);
    // struct udmabuf_create { __u32 memfd; __u32 flags; __u64 offset; __u64 size; }
    const arg = new DataView(new ArrayBuffer(24));
    arg.setUint32(0, mfd, true);
    arg.setUint32(4, UDMABUF_FLAGS_CLOEXEC, true);
    arg.setBigUint64(16, BigInt(size), true);
    const fd = lib.ioctl(dev, UDMABUF_CREATE, new Uint8Array(arg.buffer));
    const err = fd < 0 ? errno() : 0;
    lib.close(dev);
    if (fd < 0) throw new Error(`ioctl(UDMABUF_CREATE): ${strerror(err)}`);
    return fd;
  } finally {
    lib.close(mfd); // the dma-buf (if made) holds the memfd's pages
  }
}

/** close(2) of a descriptor makeDmabuf handed out. */
export function closeFd(fd: number): void {
  c().close(fd);
}
