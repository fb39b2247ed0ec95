"""The versioned hello-world backends behind API Gateway (one module, two functions: ``API_VER`` picks the text)."""
