/**
 * memreg's cache directory (the fast-path helper build, the testbed's initramfs, kernel images and kernels):
 * MEMREG_CACHE_DIR, or .cache/ in the project.
 */
export function cacheDir(): string {
  return Deno.env.get("MEMREG_CACHE_DIR") ?? new URL("../.cache", import.meta.url).pathname;
}
