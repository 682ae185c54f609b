// Loads the opencv4nodejs binding once and checks a real operation works (used by setup.sh).
const cv = require('@u4/opencv4nodejs');
const m = new cv.Mat(4, 4, cv.CV_8UC3, [10, 20, 30]);
const r = m.resize(2, 2);
if (r.rows !== 2 || r.cols !== 2) throw new Error('opencv4nodejs resize failed');
