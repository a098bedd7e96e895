"""Raw Zero-Shot transferability metrics and LOTS adversarial synthesis.

The science of the study lives here; the Snakemake workflow only calls it.
"""

__version__ = "0.1.0"
