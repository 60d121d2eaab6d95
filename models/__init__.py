"""Typed records shared by every layer: the working document and the published record.

Data only: nothing here does I/O or imports OpenCV, PaddleOCR, Celery or a web framework.
"""
