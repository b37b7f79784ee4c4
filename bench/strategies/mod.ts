// Every registration strategy, by layout and name, in the order the issue lists them.
import type { Layout, StrategyName } from "../config.ts";
import type { Strategy } from "./types.ts";
import { RegPerIo } from "./reg_per_io.ts";
import { Bounce } from "./bounce.ts";
import { Rcache } from "./rcache.ts";
import { Mw1 } from "./mw1.ts";
import { Mw2Local } from "./mw2_local.ts";
import { Mw2Remote } from "./mw2_remote.ts";
import { Odp } from "./odp.ts";
import { OdpImplicit } from "./odp_implicit.ts";
import { Rereg } from "./rereg.ts";
import { Global } from "./global.ts";
import { PageGlobal, PageOdp } from "./pages/global.ts";
import { RemapReg } from "./pages/remap_reg.ts";
import { RegPerPage } from "./pages/reg_per_page.ts";
import { PageBounce } from "./pages/bounce.ts";
import { Mw2Span } from "./pages/mw2_span.ts";
import { PageRcache } from "./pages/rcache.ts";
import { DvPageList } from "./pages/dv_page_list.ts";

const FACTORIES: Record<Layout, Partial<Record<StrategyName, () => Strategy>>> = {
  contiguous: {
    "reg-per-io": () => new RegPerIo(),
    "bounce": () => new Bounce(),
    "rcache": () => new Rcache(),
    "mw1": () => new Mw1(),
    "mw2-local": () => new Mw2Local(),
    "mw2-remote": () => new Mw2Remote(),
    "odp": () => new Odp(),
    "odp-implicit": () => new OdpImplicit(),
    "rereg": () => new Rereg(),
    "global": () => new Global(),
  },
  pages: {
    "global": () => new PageGlobal(),
    "remap-reg": () => new RemapReg(),
    "reg-per-page": () => new RegPerPage(),
    "bounce": () => new PageBounce(),
    "mw2-span": () => new Mw2Span(),
    "rcache": () => new PageRcache(),
    "odp": () => new PageOdp(),
    "dv-page-list": () => new DvPageList(),
  },
};

/** A fresh strategy by name, in `layout`. */
export function makeStrategy(name: StrategyName, layout: Layout = "contiguous"): Strategy {
  const f = FACTORIES[layout][name];
  if (!f) throw new Error(`strategy ${name} has no ${layout} layout`);
  return f();
}

/** The strategy types (strategies/types.ts). */
export type { Slot, Strategy, StrategyEnv } from "./types.ts";
