"""linli (邻里): private-domain live commerce fused with community group-buying distribution."""

__version__ = "0.1.0"
