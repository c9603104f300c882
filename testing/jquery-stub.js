// A stand-in for jQuery 3 with just what the SWA CLI's emulated sign-in page (dist/public/auth.html of
// @azure/static-web-apps-cli) calls: $(fn), $(selector|element), $.fn plugins, $.extend, and
// .each .find .closest .attr .removeAttr .val .prop .addClass .removeClass .on(event, selector, fn)
// .click(fn) .submit(fn). The browser tests serve it in place of the CDN copy, which is unreachable here.
(() => {
  function Query(elements) {
    this.length = 0;
    for (const el of elements) this[this.length++] = el;
  }

  function $(input) {
    if (typeof input === "function") {
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => input($));
      else input($);
      return new Query([]);
    }
    if (typeof input === "string") return new Query(document.querySelectorAll(input));
    if (input instanceof Query) return input;
    return new Query(input ? [input] : []);
  }

  $.fn = Query.prototype;
  $.extend = (target, ...sources) => Object.assign(target ?? {}, ...sources);

  Object.assign(Query.prototype, {
    each(fn) {
      for (let i = 0; i < this.length; i++) fn.call(this[i], i, this[i]);
      return this;
    },
    toArray() {
      return Array.from({ length: this.length }, (_, i) => this[i]);
    },
    find(selector) {
      return new Query(this.toArray().flatMap((el) => [...el.querySelectorAll(selector)]));
    },
    closest(selector) {
      return new Query(
        this.toArray()
          .map((el) => el.closest(selector))
          .filter(Boolean),
      );
    },
    attr(name, value) {
      if (value === undefined) return this[0]?.getAttribute(name) ?? undefined;
      return this.each((_, el) => el.setAttribute(name, value));
    },
    removeAttr(name) {
      return this.each((_, el) => el.removeAttribute(name));
    },
    val(value) {
      if (value === undefined) return this[0]?.value;
      return this.each((_, el) => {
        el.value = value ?? "";
      });
    },
    prop(name, value) {
      if (value === undefined) return this[0]?.[name];
      return this.each((_, el) => {
        el[name] = value;
      });
    },
    addClass(name) {
      return this.each((_, el) => el.classList.add(name));
    },
    removeClass(name) {
      return this.each((_, el) => el.classList.remove(name));
    },
    on(event, selector, handler) {
      return this.each((_, el) =>
        el.addEventListener(event, (e) => {
          const target = e.target instanceof Element ? e.target.closest(selector) : null;
          if (target && el.contains(target)) {
            handler.call(target, { originalEvent: e, currentTarget: target, target: e.target });
          }
        }),
      );
    },
    click(handler) {
      return this.each((_, el) => el.addEventListener("click", handler));
    },
    submit(handler) {
      return this.each((_, el) => el.addEventListener("submit", handler));
    },
  });

  window.$ = $;
  window.jQuery = $;
})();
