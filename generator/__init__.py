"""devrel-site: a strict, fast static site generator for pattern catalogs and handbooks."""

__version__ = "0.1.0"
