/**
 * How busy the machine was while a figure was taken: the 1-minute load average before and after. On a
 * shared machine a figure means something only beside others of the same run and a similar load.
 */
import { loadavg } from 'node:os';

export interface MachineLoad {
  /** 1-minute load average when the scenario began and when it ended. */
  before: number;
  after: number;
}

const load1 = () => Math.round(loadavg()[0]! * 100) / 100;

export async function underLoad<T>(work: () => Promise<T>): Promise<T & { load: MachineLoad }> {
  const before = load1();
  const result = await work();
  return { ...result, load: { before, after: load1() } };
}

export const formatLoad = (load: MachineLoad) => `load ${load.before.toFixed(1)}→${load.after.toFixed(1)}`;
