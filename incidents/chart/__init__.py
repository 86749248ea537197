"""Pictures drawn on the server as SVG: restoration timelines and PMR trends."""
