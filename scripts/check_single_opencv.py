"""Fail when more than one OpenCV distribution is installed: they all write the same cv2 package."""

import importlib.metadata
import sys

names = sorted({d.metadata["Name"] for d in importlib.metadata.distributions()
                if d.metadata["Name"] and d.metadata["Name"].lower().startswith("opencv")})
if len(names) != 1:
    sys.exit(f"expected exactly one OpenCV distribution, found {names}")
print(f"one OpenCV installed: {names[0]}")
