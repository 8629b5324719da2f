window.segtag=window.segtag||function(){var a=arguments;return new Promise(function(r,j){(window.segtag.q=window.segtag.q||[]).push([r,j,a])})};
