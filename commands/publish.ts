// `memreg publish RUNS_DIR -o SITE_DIR`: a static, deterministic site of every run in a directory, by configuration.
import type { Command } from "commander";
import { guardOutput, outputDir } from "../common/output.ts";

/** Adds `publish` to the program. */
export function registerPublish(program: Command): void {
  program.command("publish").description(
    "build a static site (configurations with their history, run pages, compare pages) from a results directory",
  )
    .argument("<runs-dir>", "directory holding result files (searched recursively)")
    .requiredOption("-o, --out <site-dir>", "where to write the site")
    .action(async (dir: string, o: { out: string }) => {
      outputDir(o.out, "-o");
      const { publish } = await import("../reports/site.ts");
      const r = guardOutput(o.out, "-o", () => publish(dir, o.out));
      for (const s of r.skipped) console.error(`skipped ${s}`);
      console.log(`${r.pages.length} files in ${o.out}; open ${o.out}/index.html`);
    });
}
