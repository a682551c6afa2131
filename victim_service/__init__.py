"""The victim side of mlrange: hosted models, training recipes, the metered prediction API
(Flask application factory, served by gunicorn), keys and the operator's commands.

Where things are: ``tasks/`` one module per task (how its models load, its output
policies, how its answers are encoded) and the ``name -> task`` registry; ``store`` and
``weights`` the artifact store; ``training/`` recipes and trainers; ``app/`` the HTTP API
(shared decoding, metering and errors; the task fills in the answer); ``accounts`` and
``keys`` key issuing; ``admin_client`` the Python client of the admin endpoints; ``cli``
the ``serve`` and ``keys`` commands mounted by ``mlrange``.

It knows no dataset builder and no attack: callers hand it arrays and get back an
artifact-store entry; attackers reach it only over HTTP.
"""

__version__ = "0.1.0"
