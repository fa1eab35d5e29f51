// Changes the page after the load event, so that the rendered record differs from the served HTML.
window.addEventListener("load", function () {
  setTimeout(function () {
    document.getElementById("status").textContent = "changed after load";
  }, 100);
});
