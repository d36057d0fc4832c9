"""Qingshan's pure core: store access, datums, progress, buffers, water, routing, intake.

No Streamlit here: everything a page does, ``python -m geo …`` does from a shell.
"""
__version__ = "0.1.0"
