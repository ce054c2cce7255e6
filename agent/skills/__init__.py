"""Screen skills: one model call over images (design to HTML, Draw.io, alt text...), validated."""
