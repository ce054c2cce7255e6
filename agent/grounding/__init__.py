"""Grounding: pointing at one described element (locate), zoom-then-ground refinement, the eval."""
