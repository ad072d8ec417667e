import { CheckpointRangeRecorder, MemoryCheckpointStore } from '../../src/runtime';

// Nango's `checkpoints: {from, to}`: the checkpoint an execution first found and the last it left.
test('a key never touched has no range; a read starts it, saves move its end', async () => {
  const recorder = new CheckpointRangeRecorder(new MemoryCheckpointStore());
  expect(recorder.range('k')).toBeNull();
  expect(await recorder.get('k')).toBeNull();
  await recorder.save('k', { page: 1 });
  await recorder.save('k', { page: 2 });
  expect(recorder.range('k')).toEqual({ from: null, to: { page: 2 } });
});

test('a save or clear before any read starts the range at what was stored; a clear ends it at null', async () => {
  const inner = new MemoryCheckpointStore();
  await inner.save('a', { cursor: 'x' });
  await inner.save('b', { cursor: 'y' });
  const recorder = new CheckpointRangeRecorder(inner);
  await recorder.save('a', { cursor: 'z' });
  await recorder.clear('b');
  expect(recorder.range('a')).toEqual({ from: { cursor: 'x' }, to: { cursor: 'z' } });
  expect(recorder.range('b')).toEqual({ from: { cursor: 'y' }, to: null });
  expect(await inner.get('b')).toBeNull();
});
