// placeholder replaced below
export interface Calibration {
  summary: string;
}
export async function runCalibration(_rig: unknown, _cfg: unknown, _dev: unknown): Promise<Calibration> {
  return await Promise.resolve({ summary: "" });
}
