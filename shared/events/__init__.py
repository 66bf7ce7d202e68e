"""The event contract: typed payloads and the decoder shared by Kafka and HTTP ingest."""

from .decode import Decoded, Decoder, Rejection, RejectReason
from .schemas import Event

__all__ = ["Decoded", "Decoder", "Event", "Rejection", "RejectReason"]
