"""Speech: the voice rule, a WAV from --speak-to that holds real speech, and cut-offs that are heard."""

from __future__ import annotations

import os
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from agent.access.speech import (
    SAMPLE_RATE,
    SpeechError,
    SpeechSettings,
    ThreadedSpeech,
    WavUtterer,
    sentences,
)
from agent.access.voices import CHINESE_VOICE, has_cjk, voice_for
from tests.support import wait_until


@pytest.mark.parametrize(
    ("text", "lang", "user", "voice"),
    [
        ("Reading", None, "", "en"),
        ("Reading", None, "de", "de"),
        ("打开浏览器", None, "de", CHINESE_VOICE),
        ("Open 设置 now", None, "en-us", CHINESE_VOICE),
        ("Hello", "zh", "en", CHINESE_VOICE),
        ("Hello", "fr", "en", "fr"),
        ("「」", None, "en", CHINESE_VOICE),
        ("Ünïcode ça va", None, "", "en"),
    ],
)
def test_voice_for(text: str, lang: str | None, user: str, voice: str) -> None:
    assert voice_for(text, lang, user) == voice


def test_has_cjk() -> None:
    assert has_cjk("保存")
    assert not has_cjk("Save, naïve")


def test_sentences_split_long_text() -> None:
    assert sentences("One. Two! Three?  Four") == ["One.", "Two!", "Three?", "Four"]
    assert sentences("第一句。第二句。") == ["第一句。", "第二句。"]
    assert sentences("   ") == []


def wav_stats(path: Path) -> tuple[float, float]:
    """(duration in seconds, RMS of the samples) of a 16-bit mono WAV."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(np.float64)
        duration = wav.getnframes() / wav.getframerate()
    return duration, float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def speak_to(path: Path, lines: list[str], stop: threading.Event | None = None, rate: int = 175) -> None:
    speech = ThreadedSpeech(lambda: WavUtterer(path), SpeechSettings(rate=rate), stop)
    for line in lines:
        speech.say(line)
    speech.close()


@pytest.mark.process
def test_wav_holds_every_line_at_a_plausible_length(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    speak_to(path, ["Reading", "The quick brown fox jumps over the lazy dog.", "打开浏览器"])
    duration, rms = wav_stats(path)
    # 12 English words at 175 a minute is about 4 s; the Chinese line adds about 1.5 s.
    assert 2.5 < duration < 12.0
    assert rms > 300  # speech, not silence (silence is 0; espeak-ng speech is in the thousands)
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.process
def test_rate_changes_the_length(tmp_path: Path) -> None:
    text = ["The quick brown fox jumps over the lazy dog. " * 3]
    speak_to(tmp_path / "slow.wav", text, rate=100)
    speak_to(tmp_path / "fast.wav", text, rate=300)
    slow, _ = wav_stats(tmp_path / "slow.wav")
    fast, _ = wav_stats(tmp_path / "fast.wav")
    assert slow > 2 * fast


# One sentence (commas only), so cutting it off needs the engine stopped mid-line, not
# just the queue dropped; about 1,000 words, six minutes of speech.
LONG = ", ".join(f"this is clause number {n} of a long line" for n in range(120)) + "."
SENTENCES = " ".join(f"This is sentence number {n} of a long page." for n in range(100))


@pytest.mark.process
def test_stop_token_cuts_speech_off(tmp_path: Path) -> None:
    path = tmp_path / "stopped.wav"
    stop = threading.Event()
    heard = threading.Event()

    class Watching(WavUtterer):
        def _write(self, samples: bytes) -> None:
            super()._write(samples)
            heard.set()

    speech = ThreadedSpeech(lambda: Watching(path), SpeechSettings(), stop)
    speech.say(LONG)
    assert heard.wait(10)  # speech has begun
    stop.set()
    speech.say("after the stop")  # a stopped run speaks no more, even while still open
    speech.close()  # returns once the thread ended: a stopped voice lets it end
    duration, rms = wav_stats(path)
    # The whole line is about six minutes long; what was spoken before the stop is seconds.
    assert 0 < duration < 30
    assert not speech.alive
    assert speech.spoken == [LONG]


@pytest.mark.process
def test_stop_drops_the_queue_and_speech_goes_on_after(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    heard = threading.Event()

    class Watching(WavUtterer):
        def _write(self, samples: bytes) -> None:
            super()._write(samples)
            heard.set()

    speech = ThreadedSpeech(lambda: Watching(path), SpeechSettings())
    speech.say(SENTENCES)
    assert heard.wait(10)
    speech.stop()  # the "be quiet" key
    assert speech.wait(10)
    cut = len(speech.spoken)
    speech.say("Done.")
    speech.close()
    assert cut < 10  # of 100 sentences
    assert speech.spoken[-1] == "Done."
    duration, _ = wav_stats(path)
    assert duration < 30


def test_unwritable_wav_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="cannot write"):
        ThreadedSpeech(lambda: WavUtterer(tmp_path / "no-such-dir" / "x.wav"))


def test_rate_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="rate"):
        ThreadedSpeech(lambda: WavUtterer(tmp_path / "x.wav"), SpeechSettings(rate=5))


@pytest.mark.process
def test_speakers_get_the_samples_as_a_stream_and_a_stop_kills_the_player(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.access.speech as speech_module

    played = tmp_path / "played.raw"
    player = tmp_path / "fakeplay"
    player.write_text(f"#!/bin/sh\nexec cat > {played}\n")
    player.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(speech_module, "_PLAYERS", (("fakeplay",),))

    speech = ThreadedSpeech(speech_module.SpeakerUtterer)
    speech.say("Hello there.")
    assert speech.wait(10)
    first = played.stat().st_size
    assert first > SAMPLE_RATE  # about a second of 16-bit samples reached the player

    played.unlink()
    stop = threading.Event()
    speech = ThreadedSpeech(speech_module.SpeakerUtterer, stop=stop)
    speech.say(LONG)
    assert wait_until(lambda: played.exists() and played.stat().st_size > 0)
    stop.set()
    speech.close()
    # Six minutes of speech would be 16 MB; the player was killed after a few chunks.
    assert played.stat().st_size < 2 * SAMPLE_RATE * 30


def _failing_player(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A player that fails the way aplay does on a machine with no sound device."""
    import agent.access.speech as speech_module

    player = tmp_path / "nosound"
    player.write_text("#!/bin/sh\necho 'aplay: main:831: audio open error: No such file or directory' >&2\nexit 1\n")
    player.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(speech_module, "_PLAYERS", (("nosound",),))


@pytest.mark.process
def test_no_audio_output_is_said_once_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import agent.access.speech as speech_module

    _failing_player(tmp_path, monkeypatch)
    problems: list[str] = []
    speech = ThreadedSpeech(speech_module.SpeakerUtterer, on_problem=problems.append)
    for line in ("One.", "Two.", "Three."):
        speech.say(line)
    assert speech.wait(20)
    speech.close()
    assert (speech.played, speech.failed) == (0, 3)
    (problem,) = problems  # once, not once a line
    assert problem.startswith("no audio output: nosound could not play sound") and "install" in problem
    assert "--" not in problem  # the tray shows it too: no command-line flag
    assert speech.problem == problem
    assert "ended early" not in caplog.text


@pytest.mark.process
def test_the_tray_does_not_claim_lines_were_read_aloud_when_none_was_heard(
    x_display: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.access.speech as speech_module
    from agent.api import Settings, read_screen_aloud
    from agent.ports import TextBox
    from agent.testing.reader import FakeReader

    _failing_player(tmp_path, monkeypatch)
    speech = ThreadedSpeech(speech_module.SpeakerUtterer, on_problem=lambda problem: None)
    reader = FakeReader([TextBox("File", 10, 10, 40, 22), TextBox("Edit", 60, 10, 90, 22)])
    with pytest.raises(SpeechError, match="lines read, none heard: no audio output"):
        read_screen_aloud(Settings(), speech, threading.Event(), reader=reader)
    speech.close()
