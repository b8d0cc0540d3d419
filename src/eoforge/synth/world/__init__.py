"""What the ground is: the scene plan and every layer as a pure function of (seed, position).

The plan (:mod:`~eoforge.synth.world.layout`, calibrated by
:mod:`~eoforge.synth.world.zones`) fixes the river, town, harbour, airfield,
roads and fields; :func:`~eoforge.synth.world.landcover.ground` gives the
class, crop, height and terrain at any points and date. Nothing here knows
about sensors or files.
"""
