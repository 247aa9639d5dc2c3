"""Serve the forecast flow: this process is the deployment and runs its flow runs.

Run ``python examples/deploy/serve.py`` with ``PREFECT_API_URL`` pointing at
your server, then in another shell::

    prefect deployment run 'forecast/forecast-served' --param start=2 --param stop=3

Stop serving with Ctrl-C.
"""

from flows import forecast

if __name__ == "__main__":
    forecast.serve(name="forecast-served", tags=["prefect-cycles-example"])
