// Loads the compiled OpenCV binding (as src/vision/opencv.ts does, without the package's noisy JS
// loader) and checks a real operation works. Used by setup.sh after a build or a cache copy.
const path = require('node:path');
// As src/vision/opencv.ts: no external memory tracking (its Mat finaliser can crash a process on exit).
process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING ??= '1';
const entry = require.resolve('@u4/opencv4nodejs');
const cv = require(path.join(path.dirname(entry), '..', '..', 'build', 'Release', 'opencv4nodejs.node'));
const m = new cv.Mat(4, 4, cv.CV_8UC3, [10, 20, 30]);
const r = m.resize(2, 2);
if (r.rows !== 2 || r.cols !== 2) throw new Error('opencv4nodejs resize failed');
m.release();
r.release();
