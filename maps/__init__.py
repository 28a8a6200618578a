"""Folium map builders (functions take data and return a ``folium.Map``; no I/O, no database)
and the offline assets they use."""
