// Starts Swagger UI on /docs (server/api/docs.py); a file, not an inline script, so the page
// keeps the Content-Security-Policy every page has.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
