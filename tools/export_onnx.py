"""Export a trained SOLOv2 with its post-processing to ONNX and check it in onnxruntime.

Examples::

    python tools/export_onnx.py configs/solov2_demo.py best.pth solov2.onnx --dynamic
    python tools/export_onnx.py CONFIG CKPT out.onnx --dynamic --images shots/ --opset 20
    python tools/export_onnx.py CONFIG CKPT out.onnx --test-cfg score_thr=0.3 max_per_img=50

After exporting, PyTorch and onnxruntime segment the sample images (the config's val split
by default) and the agreement is printed. Exit status: 0 in agreement; 1 a detection missing
or extra, or a mask IoU below --min-iou (0.99); 2 usage or export error. See docs/deploy.md.
"""

import sys

from solov2_plugin.deploy.export_cli import main

if __name__ == "__main__":
    sys.exit(main())
