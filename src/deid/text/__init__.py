"""Burned-in text: propose regions, OCR them, recognise PHI, redact, verify.

The pieces are small and separate so each can be tested on its own pixels or
strings: ``candidates`` finds where text may be, ``ocr`` reads it, ``lines``
rebuilds lines (Chinese characters arrive one per word), ``recognizers`` and
``lists`` decide what is PHI, ``masking`` writes the PHI-free report values.
"""
