// The WindowSink contract (test/aggregate/sink-contract.ts) against the health page's window history:
// its destination is the memory the page reads through recent(). It opens nothing, so it accepts
// writes outside start()..stop().
import { WindowHistory } from '../../src/health/history.js';
import { describeSinkContract } from '../aggregate/sink-contract.js';

describeSinkContract(
  'WindowHistory',
  () => {
    // The test windows end in 1970: a clock there keeps them within the hour the history holds.
    const history = new WindowHistory(3_600_000, { now: () => 0 });
    return Promise.resolve({ sink: history, read: () => Object.values(history.recent()).flat() });
  },
  { eventual: false, strictLifecycle: false },
);
