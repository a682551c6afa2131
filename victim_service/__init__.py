"""The victim side of mlrange: hosted models, training recipes, output policies and the
metered prediction API (Flask application factory, served by gunicorn).

It knows no dataset builder and no attack: callers hand it arrays and get back an
artifact-store entry; attackers reach it only over HTTP.
"""

__version__ = "0.1.0"
