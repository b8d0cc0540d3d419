"""How the sensors see the ground: spectra, sun and clouds, PSF, noise and speckle.

Renderers take the ground sampled under an output block
(:class:`~eoforge.synth.world.sampling.Samples`) and return physical values
(reflectance, brightness temperature, sigma0) for that block; VHR chips are
rendered whole. Nothing here writes files.
"""
