import { allHandlersFinished, condition, defineSignal, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities';

const act = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

/** Appends a value; its validator refuses 'bad'. */
export const setValueUpdate = defineUpdate<string, [string]>('setValue');
/** Waits for `goSignal`, then greets through an activity. */
export const slowUpdate = defineUpdate<string, [string]>('slow');
export const goSignal = defineSignal('go');
export const finishUpdate = defineUpdate<number>('finish');

/** A workflow driven by updates: returns the values they set once `finish` came and every handler is done. */
export async function updatable(): Promise<string[]> {
  const values: string[] = [];
  let go = false;
  let done = false;
  setHandler(
    setValueUpdate,
    (value) => {
      values.push(value);
      return `set ${value}`;
    },
    {
      validator: (value) => {
        if (value === 'bad') throw new Error('bad value');
      },
    },
  );
  setHandler(slowUpdate, async (name) => {
    await condition(() => go);
    const greeting = await act.greet(name);
    values.push(greeting);
    return greeting;
  });
  setHandler(goSignal, () => {
    go = true;
  });
  setHandler(finishUpdate, () => {
    done = true;
    return values.length;
  });
  await condition(() => done && allHandlersFinished());
  return values;
}
