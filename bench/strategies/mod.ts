// Every registration strategy, by name, in the order the issue lists them.
import type { StrategyName } from "../config.ts";
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

const FACTORIES: Record<StrategyName, () => Strategy> = {
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
};

export function makeStrategy(name: StrategyName): Strategy {
  return FACTORIES[name]();
}

export type { Slot, Strategy, StrategyEnv } from "./types.ts";
