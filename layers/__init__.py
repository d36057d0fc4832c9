"""Map layers: one module per layer, each owning its colours, legend, labels, tooltip and popup.

``layers.mapview`` builds offline Leaflet maps (assets served by the app from
registry packages, never a CDN) and shows them in Streamlit.
"""
