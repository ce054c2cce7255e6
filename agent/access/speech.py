"""Offline speech on its own thread: espeak-ng to the speakers, or into one WAV file.

``ThreadedSpeech`` owns a queue and one worker thread, so ``say`` returns at once and
capture, OCR and the run loop never wait for a voice. ``stop()`` (the "be quiet" key)
and the run's stop token cut the line being spoken off within one audio chunk and
drop the queue. Where it is spoken is an ``Utterer``: ``SpeakerUtterer`` (espeak-ng's
samples streamed into an audio player) or ``WavUtterer`` (appended to one WAV file).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import os
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent.access.voices import voice_for
from agent.errors import DeskpilotError

log = logging.getLogger(__name__)

DEFAULT_RATE = 175  # words per minute, espeak-ng's own default
MIN_RATE, MAX_RATE = 80, 450
SAMPLE_RATE = 22050  # espeak-ng's output: mono, 16-bit
_WAV_HEADER = 44
_CHUNK = 4096  # bytes of samples between two looks at the stop: about 0.09 s of audio
# How often an idle speech thread looks at the run's stop token (it has no other way to hear it).
_IDLE_POLL_S = 0.05


class SpeechError(DeskpilotError):
    """Speech cannot start: espeak-ng or an audio player is missing, or the WAV file cannot be written."""


class NoAudioError(SpeechError):
    """The audio player ran but could not play: no sound device or sound server here."""


# Said once, in words, for the terminal and the tray alike (so it names no command-line flag).
NO_AUDIO = (
    "no audio output: {player} could not play sound (no sound device or sound server); "
    "install and start a sound server (PipeWire: apt install pipewire-audio, or PulseAudio: "
    "apt install pulseaudio) on a machine with a sound device"
)


@dataclass(frozen=True)
class SpeechSettings:
    rate: int = DEFAULT_RATE
    voice: str = ""  # an espeak-ng voice name ("en-us", "de"); "" is English


Interrupted = Callable[[], bool]


class Utterer(Protocol):
    """Speaks one line with a voice, returning early once ``interrupted()`` is true."""

    def speak(self, text: str, voice: str, rate: int, interrupted: Interrupted) -> None: ...

    def close(self) -> None: ...


def _espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise SpeechError("espeak-ng is not installed (scripts/install.sh installs it)")
    return path


def espeak_samples(
    text: str, voice: str, rate: int, interrupted: Interrupted, sink: Callable[[bytes], None]
) -> bool:
    """Synthesize ``text`` with espeak-ng, handing 16-bit mono samples to ``sink`` chunk by chunk.

    Returns False when ``interrupted`` cut it off (espeak-ng is killed at once). The text
    goes in on stdin so a line starting with "-" is never read as an option.
    """
    proc = subprocess.Popen(
        [_espeak(), "--stdout", "-v", voice, "-s", str(rate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(text.encode("utf-8"))
        proc.stdin.close()
        fd = proc.stdout.fileno()
        header = b""
        while len(header) < _WAV_HEADER:  # espeak-ng writes a streaming header with no sizes
            part = os.read(fd, _WAV_HEADER - len(header))
            if not part:
                return True
            header += part
        pending = b""
        while True:
            if interrupted():
                return False
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            pending += chunk
            whole = len(pending) - len(pending) % 2  # never split a sample
            sink(pending[:whole])
            pending = pending[whole:]
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


class WavUtterer:
    """Everything spoken goes, line after line, into one WAV file (mode 0600) instead of the speakers."""

    def __init__(self, path: Path) -> None:
        from agent.records.files import open_private

        _espeak()
        try:
            fd = open_private(path, "wb")
        except OSError as err:
            raise SpeechError(f"cannot write {path}: {err.strerror or err}") from None
        self.path = path
        self._file = os.fdopen(fd, "wb")
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 (closed in close())
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)
        self.frames_written = 0

    def speak(self, text: str, voice: str, rate: int, interrupted: Interrupted) -> None:
        espeak_samples(text, voice, rate, interrupted, self._write)

    def _write(self, samples: bytes) -> None:
        self._wav.writeframes(samples)
        self.frames_written += len(samples) // 2

    def close(self) -> None:
        self._wav.close()
        self._file.close()


# Raw 16-bit mono samples on stdin, played as they arrive; the first one installed is used.
_PLAYERS = (
    ("pw-play", "--format=s16", f"--rate={SAMPLE_RATE}", "--channels=1", "-"),
    ("paplay", "--raw", "--format=s16le", f"--rate={SAMPLE_RATE}", "--channels=1"),
    ("aplay", "-q", "-t", "raw", "-f", "S16_LE", "-r", str(SAMPLE_RATE), "-c", "1", "-"),
)


class SpeakerUtterer:
    """espeak-ng's samples streamed into an audio player (PipeWire, PulseAudio or ALSA), killed on a stop.

    Not pyttsx3: its espeak driver (2.99) synthesizes a whole line and then plays it with
    a blocking ``os.system("aplay ...")``, which nothing can cut off mid-line.
    """

    def __init__(self) -> None:
        _espeak()
        for command in _PLAYERS:
            if shutil.which(command[0]):
                self._player = command
                break
        else:
            raise SpeechError("no audio player found (pw-play, paplay or aplay); or use --speak-to FILE.wav")

    def speak(self, text: str, voice: str, rate: int, interrupted: Interrupted) -> None:
        player = subprocess.Popen(self._player, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        stdin = player.stdin
        assert stdin is not None

        def feed(samples: bytes) -> None:
            stdin.write(samples)

        try:
            espeak_samples(text, voice, rate, interrupted, feed)
            stdin.close()
            while player.poll() is None:  # let the tail play out, unless a stop comes first
                if interrupted():
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    player.wait(_IDLE_POLL_S)
        except BrokenPipeError:
            pass  # the player quit before the samples ended: its exit status says why
        finally:
            if player.poll() is None:
                player.kill()
            player.wait()
        if player.returncode != 0 and not interrupted():  # a player we killed on a stop is no failure
            raise NoAudioError(NO_AUDIO.format(player=self._player[0]))

    def close(self) -> None:
        pass


# Long lines are spoken sentence by sentence, so a stop between two is noticed even by
# an engine that only reports whole utterances.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


@dataclass(frozen=True)
class _Line:
    text: str
    voice: str
    generation: int


class ThreadedSpeech:
    """The ``Speech`` port on one worker thread, which also makes the utterer (engines want one thread)."""

    def __init__(
        self,
        make_utterer: Callable[[], Utterer],
        settings: SpeechSettings | None = None,
        stop: threading.Event | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or SpeechSettings()
        if not MIN_RATE <= self.settings.rate <= MAX_RATE:
            raise SpeechError(
                f"speech rate {self.settings.rate} is outside {MIN_RATE}..{MAX_RATE} words a minute"
            )
        self._token = stop or threading.Event()
        self._cond = threading.Condition()
        self._queue: collections.deque[_Line] = collections.deque()
        self._generation = 0
        self._busy = False
        self._closing = False
        self._ready = threading.Event()
        self._failure: SpeechError | None = None
        self.spoken: list[str] = []  # lines begun, in order (what a narrator keeps in the history)
        self.played = self.failed = 0  # lines the utterer finished, and lines it could not play
        self.problem: str | None = None  # why playback failed, said once through ``on_problem``
        self._on_problem = on_problem or _log_problem
        self._thread = threading.Thread(target=self._run, args=(make_utterer,), name="speech", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    # -- the port --------------------------------------------------------------------
    def say(self, text: str, lang: str | None = None) -> None:
        text = text.strip()
        if not text or self._token.is_set():
            return
        voice = voice_for(text, lang, self.settings.voice)
        with self._cond:
            if self._closing:
                return
            for part in sentences(text) or [text]:
                self._queue.append(_Line(part, voice, self._generation))
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------
    def _run(self, make_utterer: Callable[[], Utterer]) -> None:
        try:
            utterer = make_utterer()
        except SpeechError as err:
            self._failure = err
            self._ready.set()
            return
        self._ready.set()
        try:
            while (line := self._next()) is not None:
                self.spoken.append(line.text)
                try:
                    cut = functools.partial(self._cut, line)
                    utterer.speak(line.text, line.voice, self.settings.rate, cut)
                    self.played += 1
                except NoAudioError as err:
                    self.failed += 1
                    if self.problem is None:  # once, not once a line
                        self.problem = str(err)
                        self._on_problem(self.problem)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._busy = False
                self._queue.clear()
                self._cond.notify_all()
            utterer.close()

    def _cut(self, line: _Line) -> bool:
        """Whether ``line`` must fall silent: the run stopped, or stop() came after it was queued."""
        return self._token.is_set() or line.generation != self._generation

    def _next(self) -> _Line | None:
        """The next line to speak; None once closing with nothing queued (or when stopped)."""
        with self._cond:
            while True:
                if self._token.is_set():
                    self._queue.clear()
                    if self._closing:
                        return None
                if self._queue:
                    line = self._queue.popleft()
                    if line.generation != self._generation:
                        continue
                    self._busy = True
                    return line
                if self._closing:
                    return None
                self._cond.notify_all()  # wake wait(): the queue is empty
                self._cond.wait(_IDLE_POLL_S)


def _log_problem(problem: str) -> None:
    log.warning("%s", problem)


def open_speech(
    speak_to: Path | None,
    settings: SpeechSettings | None = None,
    stop: threading.Event | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> ThreadedSpeech:
    """Speech to ``speak_to`` (a WAV file) when given, else to the speakers.

    ``on_problem`` hears once, in words, that nothing can be heard (default: a log warning).
    """
    if speak_to is not None:
        target = speak_to
        return ThreadedSpeech(lambda: WavUtterer(target), settings, stop, on_problem)
    return ThreadedSpeech(SpeakerUtterer, settings, stop, on_problem)
