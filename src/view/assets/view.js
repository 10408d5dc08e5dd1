// The viewer page's player (spec §14): asciinema-player fed the session's segmented recording, so a
// long session starts playing once its first segment is in. Served by reel with the page; the page
// holds no inline script. A URL fragment #t=<seconds> opens the recording at that moment.
/* global AsciinemaPlayer */
(() => {
  const data = JSON.parse(document.getElementById('view-data').textContent);
  const element = document.getElementById('player');
  const speed = document.getElementById('speed');
  let player;
  let playing = false;

  /** Creates the player at a speed: the player takes its speed when it is made, so a change makes a new one. */
  function create(rate, at, play) {
    if (player) player.dispose();
    playing = false;
    player = AsciinemaPlayer.create({ url: data.recording, format: 'segmented' }, element, { speed: rate, fit: 'width' });
    player.addEventListener('playing', () => (playing = true));
    player.addEventListener('pause', () => (playing = false));
    player.addEventListener('ended', () => (playing = false));
    window.reelPlayer = player;
    if (at > 0) {
      player.seek(at).then(() => (play ? player.play() : undefined));
    } else if (play) {
      player.play();
    }
  }

  const at = Number(new URLSearchParams(location.hash.slice(1)).get('t'));
  create(Number(speed.value), Number.isFinite(at) && at > 0 ? at : 0, false);

  speed.addEventListener('change', async () => {
    const wasPlaying = playing;
    const now = await player.getCurrentTime();
    create(Number(speed.value), now ?? 0, wasPlaying);
  });
})();
